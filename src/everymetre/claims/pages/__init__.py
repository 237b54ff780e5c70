"""claims/pages"""
